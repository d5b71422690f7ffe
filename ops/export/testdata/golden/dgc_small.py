INPUT_SHAPE = (3, 10, 10)  # C, H, W
PARAMS = 13946  # nas's parameter count
MACS = 224576  # nas's multiply-accumulates per sample


def build_model():
    """Returns the network, its parameters at PyTorch's default initialization."""
    return nn.Sequential(  # root: 10x10x3 -> 1x1x10
        nn.Conv2d(3, 16, (3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, bias=False),
        nn.BatchNorm2d(16, eps=1e-05, momentum=0.1),
        nn.ReLU(),
        DynamicGroupConv(16, 32, (3, 3), stride=(2, 2), padding=(1, 1), dilation=(1, 1), heads=4, hidden=2, drop=9),
        nn.BatchNorm2d(32, eps=1e-05, momentum=0.1),
        nn.ReLU(),
        DynamicGroupConv(32, 32, (1, 1), stride=(1, 1), padding=(0, 0), dilation=(1, 1), heads=2, hidden=16, drop=16),
        nn.ReLU(),
        DynamicGroupConv(32, 16, (3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), heads=2, hidden=4, drop=0),
        GlobalAvgPool(),
        Linear(16, 10, bias=True),
    )


if __name__ == "__main__":
    check(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
