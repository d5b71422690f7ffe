package main

import (
	"encoding/json"
	"fmt"

	"nas/evaluate"
	"nas/ops"
	"nas/space"
	"nas/store"
)

// runConfig is every setting of a run, stored as the run's config JSON: enough to
// rebuild its space, its proxy and its search, and so to resume it.
type runConfig struct {
	Budget      space.Budget        `json:"budget_macs"`
	Target      string              `json:"target"`
	Classes     int                 `json:"classes"`
	Strategy    string              `json:"strategy"`
	Population  int                 `json:"population"`
	Generations int                 `json:"generations"`
	Evaluations int                 `json:"evaluations"`
	Seed        uint64              `json:"seed"`
	Workers     int                 `json:"workers"`
	Dataset     string              `json:"dataset"`
	DataDir     string              `json:"data_dir,omitempty"`
	ValSize     int                 `json:"val_size"`
	Fidelities  []evaluate.Fidelity `json:"fidelities"`
	Keep        float64             `json:"keep"`
	Recipe      evaluate.Recipe     `json:"recipe"`
	TimeLimit   string              `json:"time_limit,omitempty"`
	// Families, Groupings and Bits are the space's opt-in genes (space.Config);
	// absent, as in runs recorded before they existed, they are the defaults, so
	// that a resumed run replays the space it started with.
	Families  []space.Family   `json:"families,omitempty"`
	Groupings []space.Grouping `json:"groupings,omitempty"`
	Bits      []int            `json:"bits,omitempty"`
}

// target returns the deployment input shape.
func (c *runConfig) target() (ops.Shape, error) { return ops.ParseShape(c.Target) }

// space rebuilds the run's search space.
func (c *runConfig) space() (*space.Space, error) {
	t, err := c.target()
	if err != nil {
		return nil, err
	}
	return space.New(space.Config{Budget: c.Budget, Target: t, Classes: c.Classes,
		Families: c.Families, Groupings: c.Groupings, Bits: c.Bits})
}

// loadRunConfig reads a stored run's configuration.
func loadRunConfig(r *store.Run) (*runConfig, error) {
	var c runConfig
	if err := json.Unmarshal(r.Config, &c); err != nil {
		return nil, fmt.Errorf("run %s: config: %w", r.Name, err)
	}
	return &c, nil
}

// loadGenome decodes a stored candidate's genome.
func loadGenome(c *store.Candidate) (space.Genome, error) {
	var g space.Genome
	if err := json.Unmarshal(c.Genome, &g); err != nil {
		return g, fmt.Errorf("candidate %d: genome: %w", c.ID, err)
	}
	return g, nil
}
