"""Derives fr_feature_batch.onnx from fr_feature.onnx: the same weights and graph with a dynamic
batch dimension, for `inference.embedding_batch` (one model run for many faces).

The original graph (PyTorch export, opset 9: Conv, PRelu, Add, one final Reshape) takes
[1, 3, 112, 112] and ends with Reshape(x, [1, -1]). Conv, PRelu and Add take any batch; the
Reshape's literal 1 does not, so its target becomes [0, -1] (0 = keep the input's batch) and the
input and output batch dimensions become the symbolic `batch`.

Before the file is written the script checks, with ONNX's reference evaluator (numpy, no ONNX
Runtime needed), that the new model run on a batch of 2 faces gives, per face, the embedding the
original gives for that face alone; the Rust tests check it again with ONNX Runtime.

Usage: python batch_embedding_model.py SRC DST
"""

import sys

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.reference import ReferenceEvaluator


def make_batch_dynamic(model: onnx.ModelProto) -> onnx.ModelProto:
    graph = model.graph
    if len(graph.input) != 1 or len(graph.output) != 1:
        sys.exit("batch_embedding_model: expected one input and one output")
    for value in (graph.input[0], graph.output[0]):
        dim = value.type.tensor_type.shape.dim[0]
        if dim.dim_value != 1:
            sys.exit(f"batch_embedding_model: {value.name} batch dim is not 1")
        dim.Clear()
        dim.dim_param = "batch"
    allowed = {"Conv", "PRelu", "Add", "Reshape"}
    ops = {node.op_type for node in graph.node}
    if not ops <= allowed:
        sys.exit(f"batch_embedding_model: unexpected operators {sorted(ops - allowed)}")
    reshapes = [n for n in graph.node if n.op_type == "Reshape"]
    if len(reshapes) != 1 or reshapes[0].output[0] != graph.output[0].name:
        sys.exit("batch_embedding_model: expected one Reshape, producing the output")
    shape_name = reshapes[0].input[1]
    users = [n for n in graph.node if shape_name in n.input]
    if len(users) != 1:
        sys.exit("batch_embedding_model: the Reshape's shape is shared")
    init = next(i for i in graph.initializer if i.name == shape_name)
    if numpy_helper.to_array(init).tolist() != [1, -1]:
        sys.exit("batch_embedding_model: the Reshape's shape is not [1, -1]")
    init.CopyFrom(numpy_helper.from_array(np.array([0, -1], dtype=np.int64), shape_name))
    del graph.value_info[:]
    onnx.checker.check_model(model)
    return model


def verify(original: onnx.ModelProto, batched: onnx.ModelProto) -> None:
    rng = np.random.default_rng(14)
    faces = rng.uniform(-1.0, 1.0, size=(2, 3, 112, 112)).astype(np.float32)
    single = ReferenceEvaluator(original)
    many = ReferenceEvaluator(batched)
    (together,) = many.run(None, {"input": faces})
    if together.shape != (2, 512):
        sys.exit(f"batch_embedding_model: batched output shape {together.shape}")
    for i in range(2):
        (alone,) = single.run(None, {"input": faces[i : i + 1]})
        a, b = alone[0], together[i]
        cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        if cos < 0.9999:
            sys.exit(f"batch_embedding_model: face {i} differs in the batch (cosine {cos})")
        print(f"batch_embedding_model: face {i}: cosine {cos:.6f} to the single-face run")


def main() -> None:
    src, dst = sys.argv[1], sys.argv[2]
    original = onnx.load(src)
    batched = make_batch_dynamic(onnx.load(src))
    verify(original, batched)
    onnx.save(batched, dst)


if __name__ == "__main__":
    main()
