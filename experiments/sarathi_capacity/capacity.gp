# gnuplot capacity.gp -> capacity.png (written by run.sh)
set terminal pngcairo size 900,500
set output 'capacity.png'
set title "Capacity at P99 TBT SLO, arXiv-summarisation lengths (servesim)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "capacity (requests/s)"
set xtics rotate by -20
set key top right
set xrange [-0.5:*]
set datafile separator "\t"
plot 'capacity.tsv' using 3:xtic(1) title 'vLLM (best max batch)', '' using 4 title 'Orca', '' using 5 title 'Sarathi-Serve'
