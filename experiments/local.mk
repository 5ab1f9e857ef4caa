# experiments/local.mk: reproductions of published results (scenario sets + scripts).
