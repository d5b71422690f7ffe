INPUT_SHAPE = (3, 9, 9)  # C, H, W
PARAMS = 1322  # nas's parameter count
MACS = 38456  # nas's multiply-accumulates per sample


def build_model():
    """Returns the network, its parameters at PyTorch's default initialization."""
    return nn.Sequential(  # root: 9x9x3 -> 1x1x10
        nn.Conv2d(3, 8, (3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, bias=True),
        nn.BatchNorm2d(8, eps=1e-05, momentum=0.1),
        nn.ReLU(),
        DSConv2d(8, 16, (3, 3), stride=(2, 2), padding=(1, 1), dilation=(1, 1), groups=2, bias=True),
        nn.BatchNorm2d(16, eps=1e-05, momentum=0.1),
        nn.ReLU(),
        DSConv2d(16, 16, (1, 1), stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, bias=False),
        GlobalAvgPool(),
        Linear(16, 10, bias=True),
    )


if __name__ == "__main__":
    check(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
