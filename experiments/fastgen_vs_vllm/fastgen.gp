# gnuplot fastgen.gp -> fastgen.png (written by run.sh)
set terminal pngcairo size 1000,420
set output 'fastgen.png'
set datafile separator "\t"
set multiplot layout 1,2 title "llama-2-70b, TP 4 on A100-80GB, prompt 2600 / output 60 (servesim)"
set xlabel "offered load (requests/s)"
set ylabel "effective throughput (requests/s in SLA)"
set key top left
# rows alternate vllm, fastgen
plot 'sweep.tsv' every 2::0 using 1:4 with linespoints title 'vLLM', \
     '' every 2::1 using 1:4 with linespoints title 'FastGen (SplitFuse)'
set ylabel "P99 inter-token gap (s)"
set logscale y
plot 'sweep.tsv' every 2::0 using 1:8 with linespoints title 'vLLM', \
     '' every 2::1 using 1:8 with linespoints title 'FastGen (SplitFuse)'
unset multiplot
