package zoo

// dgcNetworks lists the networks built from dynamic group convolutions (Su et al.
// 2020).
var dgcNetworks []Spec
