# gnuplot priority.gp -> priority.png (written by run.sh)
set terminal pngcairo size 1000,480
set output 'priority.png'
set datafile separator "\t"
set title "High-priority P99 TTFT and context-switch cost (llama-3.1-8b, A100-80GB, servesim)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "seconds (log scale)"
set logscale y
set yrange [0.1:*]
set xtics rotate by -25
set xrange [-0.5:*]
set key top right
plot 'results.tsv' using 2:xtic(1) title 'high-priority P99 TTFT', '' using 9 title 'host-link copy time (total)'
