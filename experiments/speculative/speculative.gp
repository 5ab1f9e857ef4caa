# gnuplot speculative.gp -> speculative.png (written by run.sh)
set terminal pngcairo size 800,480
set output 'speculative.png'
set datafile separator "\t"
set title "llama-2-70b TP4 on A100-80GB, draft llama-2-7b, acceptance 0.7 (servesim)"
set xlabel "request rate (requests/s)"
set ylabel "mean end-to-end latency (s)"
set logscale y
set key top left
plot 'sweep.tsv' using 1:2 with linespoints title 'no speculation', \
     '' using 1:3 with linespoints title 'fixed k = 4', \
     '' using 1:4 with linespoints title 'SmartSpec (adaptive k <= 4)'
