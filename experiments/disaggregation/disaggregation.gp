# gnuplot disaggregation.gp -> disaggregation.png (written by run.sh)
set terminal pngcairo size 1200,560
set output 'disaggregation.png'
set datafile separator "\t"
set title "Capacity at P90 SLOs, 4 GPUs (H100; A100 decode pools where named), llama-3.1-8b, Azure conversation trace (servesim)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "capacity (x the trace's rate)"
set yrange [0:*]
set bmargin 12
set xtics rotate by -40 font ",9"
set rmargin 14
set key top right
plot 'capacity.tsv' every ::0::13 using 6:xtic(sprintf("%s %s", stringcolumn(3), stringcolumn(5))) title 'TTFT 0.25 s / TPOT 20 ms', \
     '' every ::14::27 using 6 title 'TTFT 0.5 s / TPOT 12 ms', \
     '' every ::28::41 using 6 title 'TTFT 1 s / TPOT 10 ms'
