INPUT_SHAPE = (3, 14, 14)  # C, H, W
PARAMS = 1720  # nas's parameter count
MACS = 131212  # nas's multiply-accumulates per sample


def build_model():
    """Returns the network, its parameters at PyTorch's default initialization."""
    return nn.Sequential(  # root: 14x14x3 -> 1x1x10
        nn.Conv2d(3, 8, (3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, bias=False),
        nn.BatchNorm2d(8, eps=1e-05, momentum=0.1),
        nn.ReLU(),
        ScaleAggregation([  # 3: 14x14x8 -> 14x14x9
            ScaleBranch(1,  # 3.0: 14x14x8 -> 14x14x4
                nn.Conv2d(8, 4, (3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, bias=False),
                nn.Sequential(  # 3.0.1: 14x14x4 -> 14x14x4
                    nn.BatchNorm2d(4, eps=1e-05, momentum=0.1),
                    nn.ReLU(),
                ),
            ),
            ScaleBranch(2,  # 3.1: 14x14x8 -> 14x14x3
                nn.Conv2d(8, 3, (3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, bias=False),
                nn.Sequential(  # 3.1.1: 14x14x3 -> 14x14x3
                    nn.BatchNorm2d(3, eps=1e-05, momentum=0.1),
                    nn.ReLU(),
                ),
            ),
            ScaleBranch(7,  # 3.2: 14x14x8 -> 14x14x2
                nn.Conv2d(8, 2, (3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, bias=False),
                nn.Sequential(  # 3.2.1: 14x14x2 -> 14x14x2
                    nn.BatchNorm2d(2, eps=1e-05, momentum=0.1),
                    nn.ReLU(),
                ),
            ),
        ]),
        Block("scale_bottleneck", "9->4->[3 2 2 1]->16 s2",  # 4: 14x14x9 -> 7x7x16
            nn.Sequential(  # 4.0: 14x14x9 -> 7x7x16
                ScalePool(2),
                Residual(  # 4.0.1: 7x7x9 -> 7x7x16
                    nn.Sequential(  # 4.0.1.0: 7x7x9 -> 7x7x16
                        nn.Conv2d(9, 4, (1, 1), stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, bias=False),
                        nn.BatchNorm2d(4, eps=1e-05, momentum=0.1),
                        nn.ReLU(),
                        ScaleAggregation([  # 4.0.1.0.3: 7x7x4 -> 7x7x8
                            ScaleBranch(1,  # 4.0.1.0.3.0: 7x7x4 -> 7x7x3
                                nn.Conv2d(4, 3, (3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, bias=False),
                                nn.Sequential(  # 4.0.1.0.3.0.1: 7x7x3 -> 7x7x3
                                    nn.BatchNorm2d(3, eps=1e-05, momentum=0.1),
                                    nn.ReLU(),
                                ),
                            ),
                            ScaleBranch(2,  # 4.0.1.0.3.1: 7x7x4 -> 7x7x2
                                nn.Conv2d(4, 2, (3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, bias=False),
                                nn.Sequential(  # 4.0.1.0.3.1.1: 7x7x2 -> 7x7x2
                                    nn.BatchNorm2d(2, eps=1e-05, momentum=0.1),
                                    nn.ReLU(),
                                ),
                            ),
                            ScaleBranch(4,  # 4.0.1.0.3.2: 7x7x4 -> 7x7x2
                                nn.Conv2d(4, 2, (3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, bias=False),
                                nn.Sequential(  # 4.0.1.0.3.2.1: 7x7x2 -> 7x7x2
                                    nn.BatchNorm2d(2, eps=1e-05, momentum=0.1),
                                    nn.ReLU(),
                                ),
                            ),
                            ScaleBranch(7,  # 4.0.1.0.3.3: 7x7x4 -> 7x7x1
                                nn.Conv2d(4, 1, (1, 1), stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, bias=False),
                                nn.Sequential(  # 4.0.1.0.3.3.1: 7x7x1 -> 7x7x1
                                    nn.BatchNorm2d(1, eps=1e-05, momentum=0.1),
                                    nn.ReLU(),
                                ),
                            ),
                        ]),
                        nn.Conv2d(8, 16, (1, 1), stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, bias=False),
                        nn.BatchNorm2d(16, eps=1e-05, momentum=0.1),
                    ),
                    nn.Sequential(  # 4.0.1.1: 7x7x9 -> 7x7x16
                        nn.Conv2d(9, 16, (1, 1), stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, bias=False),
                        nn.BatchNorm2d(16, eps=1e-05, momentum=0.1),
                    ),
                    nn.ReLU(),
                ),
            ),
        ),
        GlobalAvgPool(),
        Linear(16, 10, bias=True),
    )


if __name__ == "__main__":
    check(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
