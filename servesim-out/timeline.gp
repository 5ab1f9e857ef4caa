# servesim timeline: default: llama-3.1-8b on 2 x h100-sxm, vllm, seed 1
# Render with `gnuplot timeline.gp` in this directory; it writes timeline.png.
if (strstrt(GPVAL_TERMINALS." ", " pngcairo ") > 0) {
  set terminal pngcairo size 900,750
} else {
  set terminal png size 900,750
}
set encoding utf8
set output "timeline.png"
set datafile missing "NaN"
set multiplot layout 3,1 title "default: llama-3.1-8b on 2 x h100-sxm, vllm, seed 1" noenhanced
set grid
unset key
set lmargin 12
set offsets 0, 0, graph 0.05, graph 0.05
set xrange [0:218]
unset xlabel
set yrange [0:*]
set ylabel "queued requests" noenhanced
plot "timeline.dat" using 1:2 with steps lw 2 notitle
set yrange [0:*]
set ylabel "running batch size" noenhanced
plot "timeline.dat" using 1:3 with steps lw 2 notitle
set xlabel "simulated time (s)"
set yrange [0:*]
set ylabel "KV cache used (%)" noenhanced
plot "timeline.dat" using 1:4 with steps lw 2 notitle
unset multiplot
