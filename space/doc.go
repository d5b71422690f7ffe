// Package space defines the search space of grouping strategies: the genome, its
// validity and repair, its canonical hash, mutation and crossover, its decoding into
// an ops network, and the MACs budget.
//
// It sits between ops and evaluate in the flow ops <- space <- evaluate <- search,
// and must not import evaluate, search or store.
package space
