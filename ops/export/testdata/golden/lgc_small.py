INPUT_SHAPE = (3, 8, 8)  # C, H, W
PARAMS = 1754  # nas's parameter count
MACS = 93344  # nas's multiply-accumulates per sample


def build_model():
    """Returns the network, its parameters at PyTorch's default initialization."""
    return nn.Sequential(  # root: 8x8x3 -> 1x1x10
        nn.Conv2d(3, 16, (3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, bias=False),
        nn.BatchNorm2d(16, eps=1e-05, momentum=0.1),
        nn.ReLU(),
        LearnedGroupConv(4, [[3, 4, 6, 9], [0, 1, 12, 14], [1, 5, 6, 8], [0, 1, 9, 15]], [  # 3: 8x8x16 -> 8x8x32
            nn.BatchNorm2d(16, eps=1e-05, momentum=0.1),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Conv2d(16, 32, (1, 1), stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, bias=False),
        ]),
        LearnedGroupConv(2, [[12, 14, 15, 16, 18, 20, 27, 31], [5, 7, 9, 13, 16, 22, 23, 31]], [  # 4: 8x8x32 -> 8x8x16
            nn.BatchNorm2d(32, eps=1e-05, momentum=0.1),
            nn.ReLU(),
            nn.Conv2d(32, 16, (1, 1), stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, bias=False),
        ]),
        GlobalAvgPool(),
        Linear(16, 10, bias=True),
    )


if __name__ == "__main__":
    check(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
