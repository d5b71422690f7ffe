// Package store keeps runs and their evaluations in one SQLite file: the schema, its
// embedded migrations and the queries.
//
// It stands beside the flow ops <- space <- evaluate <- search and must not import
// ops, evaluate or search.
package store
