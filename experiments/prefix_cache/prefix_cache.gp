# gnuplot prefix_cache.gp -> prefix_cache.png (written by run.sh)
set terminal pngcairo size 1100,540
set output 'prefix_cache.png'
set datafile separator "\t"
set title "Prefix caching on the Mooncake conversation trace (1,000 requests, 6 x llama-3.1-8b, servesim)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "TTFT (s)"
set yrange [0:5.5]
set y2range [0:27.5]
set y2label "prompt tokens found cached (%)"
set y2tics
set ytics nomirror
set bmargin 11
set xtics rotate by -25
set xrange [-0.5:*]
set key top center horizontal
plot 'results.tsv' using 7:xtic(1) title 'mean TTFT', \
     '' using 8 title 'P90 TTFT', \
     '' using ($0):($6*100) axes x1y2 with linespoints lw 2 pt 7 title 'hit rate (right)'
