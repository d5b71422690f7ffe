package space

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkCost(b *testing.B) {
	s, err := New(Config{Budget: 300_000_000})
	if err != nil {
		b.Fatal(err)
	}
	g, _ := s.Sample(rand.New(rand.NewPCG(1, 2)))
	for b.Loop() {
		if _, err := s.Cost(g); err != nil {
			b.Fatal(err)
		}
	}
}
