package zoo

// scaleNetworks lists the networks built from ScaleNet's scale aggregation blocks
// (Li et al. 2019).
var scaleNetworks []Spec
