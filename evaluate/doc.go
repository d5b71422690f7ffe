// Package evaluate scores candidate networks: datasets, the training loop, the
// derivation of a proxy-sized network from a candidate, and the score record.
//
// It sits in the flow ops <- space <- evaluate <- search and must not import search
// or store.
package evaluate
