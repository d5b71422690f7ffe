// Package search runs the multi-objective search over the space: NSGA-II, aging
// evolution and random search on eaopt, the evaluation pool and the fidelity schedule.
//
// It sits at the end of the flow ops <- space <- evaluate <- search. It must not
// import store: it reports through a small interface that its caller supplies.
package search
