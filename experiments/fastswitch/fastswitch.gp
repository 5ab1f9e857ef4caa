# gnuplot fastswitch.gp -> fastswitch.png (written by run.sh)
set terminal pngcairo size 1000,480
set output 'fastswitch.png'
set datafile separator "\t"
set title "Conversation KV re-use from host memory, off vs on (llama-3.1-8b, A100-80GB, servesim)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "TTFT (s, log scale)"
set logscale y
set yrange [0.01:*]
set bmargin 9
set xtics rotate by -25
set xrange [-0.5:*]
set key top left
plot 'results.tsv' using 3:xtic(sprintf("%s %s", stringcolumn(1), stringcolumn(2) eq "true" ? "on" : "off")) title 'mean TTFT', \
     '' using 4 title 'P99 TTFT'
