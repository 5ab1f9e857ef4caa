# servesim plan: TPOT percentile vs output throughput per GPU, at capacity
# Render with `gnuplot pareto_latency.gp` in this directory; it writes pareto_latency.png.
if (strstrt(GPVAL_TERMINALS." ", " pngcairo ") > 0) {
  set terminal pngcairo size 1100,750
} else {
  set terminal png size 1100,750
}
set encoding utf8
set output 'pareto_latency.png'
set title 'TPOT percentile vs output throughput per GPU, at capacity' noenhanced
set xlabel 'output tokens/s per GPU'
set ylabel 'TPOT percentile (ms)'
set grid
set key below noenhanced
plot 'pareto_latency.dat' index 0 using 1:2 with points pt 7 ps 0.8 lc rgb '#b3bcc6' title 'configurations', \
     '' index 1 using 1:2 with linespoints pt 7 ps 1.2 lw 2 lc rgb '#c0392b' title 'Pareto front', \
     '' index 1 using 1:2:(stringcolumn(4)) with labels left offset 0.8,0.4 font ',7' tc rgb '#c0392b' noenhanced notitle
