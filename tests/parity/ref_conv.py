"""Reference cases for conv2d (nn/ops_conv.h): dense, strided, dilated, grouped, 1x1, asymmetric
kernels, and depthwise 3x3 / 5x5 at stride 1 and 2 (which hemo runs on its depthwise kernels).
Batch 3, 7x13 planes, channel counts that are not multiples of 8."""
import torch.nn.functional as F
from make_reference import Case


def conv(name, x_shape, w_shape, bias=True, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, grads=None):
    params = {"stride": list(stride), "padding": list(padding), "dilation": list(dilation), "groups": groups,
              "bias": bias}
    inputs = {"x": ("rand", x_shape), "w": ("rand", w_shape)}
    if bias:
        inputs["b"] = ("rand", (w_shape[0],))

    def forward(x, w, b=None):
        return F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)

    return Case(f"conv_{name}", "conv2d", params, inputs, forward, grads)


X = (3, 5, 7, 13)
CASES = [
    conv("3x3_pad1", X, (6, 5, 3, 3), padding=(1, 1)),
    conv("3x3_stride2_nobias", X, (6, 5, 3, 3), bias=False, stride=(2, 2), padding=(1, 1)),
    conv("3x3_dilation2", X, (6, 5, 3, 3), padding=(2, 2), dilation=(2, 2)),
    conv("5x3_asymmetric", X, (4, 5, 5, 3), stride=(1, 2), padding=(2, 1), dilation=(1, 2)),
    conv("1x1", X, (11, 5, 1, 1)),
    conv("groups3", (3, 6, 7, 13), (9, 2, 3, 3), stride=(2, 1), padding=(1, 0), groups=3),
    conv("input_no_grad", X, (6, 5, 3, 3), padding=(1, 1), grads=["w", "b"]),
    # 40x60 outputs: hemo batches two images per GEMM, then the third alone.
    conv("3x3_40x60", (3, 4, 40, 60), (7, 4, 3, 3), padding=(1, 1)),
    conv("depthwise_3x3_s1", (3, 10, 7, 13), (10, 1, 3, 3), padding=(1, 1), groups=10),
    conv("depthwise_3x3_s2_nobias", (3, 10, 7, 13), (10, 1, 3, 3), bias=False, stride=(2, 2), padding=(1, 1),
         groups=10),
    conv("depthwise_5x5_s1", (3, 10, 7, 13), (10, 1, 5, 5), padding=(2, 2), groups=10),
    conv("depthwise_5x5_s2", (3, 10, 7, 13), (10, 1, 5, 5), stride=(2, 2), padding=(2, 2), groups=10),
]
