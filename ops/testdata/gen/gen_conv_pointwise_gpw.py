"""Golden data for the gpw pointwise kernels of Conv2D (conv_pointwise_gpw.go):
grouped and dense 1x1 convolutions with few channels per group on planes of more
than 36 values, where they run, including channel counts that leave partial tiles
of six and four rows and planes that are not a multiple of 16 values. Each case
stores x, weight, (bias), y = conv(x), a random upstream gradient dy, and the
gradients dx, dweight, (dbias) of sum(y * dy)."""
from gen_conv_pointwise_batch import write_cases

CASES = [
    # name, N, Cin, H, W, Cout, groups, bias
    ("g2_C6to10_HW5x8_b2", 2, 6, 5, 8, 10, 2, False),  # Out > In per group, as in an expansion
    ("g2_C14to6_HW7_b2", 2, 14, 7, 7, 6, 2, True),  # In > Out per group, as in a projection
    ("dense_C5to7_HW1x37_b3", 3, 5, 1, 37, 7, 1, False),  # partial tiles, 37 values: two vectors and 5 lanes
]


def main():
    write_cases("pwgpw_", CASES)


if __name__ == "__main__":
    main()
