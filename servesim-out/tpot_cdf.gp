# servesim CDF: default: llama-3.1-8b on 2 x h100-sxm, vllm, seed 1
# Render with `gnuplot tpot_cdf.gp` in this directory; it writes tpot_cdf.png.
if (strstrt(GPVAL_TERMINALS." ", " pngcairo ") > 0) {
  set terminal pngcairo size 900,600
} else {
  set terminal png size 900,600
}
set encoding utf8
set output "tpot_cdf.png"
set title "default: llama-3.1-8b on 2 x h100-sxm, vllm, seed 1" noenhanced
set xlabel "time per output token (ms)" noenhanced
set ylabel "fraction of requests"
set yrange [0:1.05]
set ytics 0, 0.1, 1
set grid
set key bottom right
plot "tpot_cdf.dat" index 0 using 1:2 with steps lw 2 title "TPOT (per request)" noenhanced, \
     "tpot_cdf.dat" index 1 using 1:2 with steps lw 2 title "inter-token gap" noenhanced
