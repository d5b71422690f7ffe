package space

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Canonical returns the canonical form of g: every gene valid, every gene its block
// family ignores set to a fixed value. Equal architectures have equal canonical forms.
func (s *Space) Canonical(g Genome) Genome { return s.canonical(g) }

// Hash identifies g's architecture: the first 16 hex digits of the SHA-256 of its
// canonical JSON. Genomes that differ only in genes their families ignore hash alike.
func (s *Space) Hash(g Genome) string {
	b, err := json.Marshal(s.canonical(g))
	if err != nil {
		// A canonical genome has only valid enumerations, which always marshal.
		panic("space: marshal canonical genome: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
