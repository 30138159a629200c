"""Assignment 1's planted mistakes and correct variants: linear SVM / softmax, LinearClassifier, kNN, TwoLayerNet.

Planted in the reference laid out as an assignment-1 tree (generator.ASSIGNMENT_FILES[1]:
cs231n/classifiers/{linear_svm, softmax, linear_classifier, k_nearest_neighbor, neural_net}.py).
The mistakes are the ones real solutions of 2016-2023 show: a margin without its 1, the correct
class's column forgotten, dW not averaged, the 2016 and 2017 regularisation conventions mixed,
a "vectorised" loss that still loops, kNN ties broken by Counter's order, minibatches whose
labels are drawn apart from their examples.
"""
from __future__ import annotations

from .cases import Mutant, Variant
from .generator import Edit

SVM, SOFTMAX, LINEAR = "classifiers/linear_svm.py", "classifiers/softmax.py", "classifiers/linear_classifier.py"
KNN, NET = "classifiers/k_nearest_neighbor.py", "classifiers/neural_net.py"
BATCH = "batch size|N=|divided by N|by N|num_train"


def mutant(id: str, mistake: str, file: str, old: str, new: str, expected, diagnosis=(), **options) -> Mutant:
    as_tuple = (lambda v: (v,) if isinstance(v, str) else tuple(v))
    return Mutant(id, mistake, (Edit(file, old, new),), as_tuple(expected), as_tuple(diagnosis), assignment=1,
                  **options)


def variant(id: str, description: str, *edits: Edit) -> Variant:
    return Variant(id, description, edits, assignment=1)


RETURN_VECTORIZED = "    return add_regularization(data_loss, X.T @ dscores, W, reg)\n"
SVM_VECTORIZED = "    data_loss, dscores = svm_loss(X @ W, y)\n" + RETURN_VECTORIZED
SOFTMAX_VECTORIZED = "    data_loss, dscores = softmax_loss(X @ W, y)\n" + RETURN_VECTORIZED
REG = "    return float(data_loss + reg * np.sum(W * W)), data_dW + 2 * reg * W\n"


def svm_inline(*, margin: str = " + 1", zero_correct: bool = True, divide: str = " / N") -> str:
    """svm_loss_vectorized written out inline, with the given pieces (for mutants and variants)."""
    lines = ["    N = X.shape[0]", "    scores = X.dot(W)", "    correct = scores[np.arange(N), y][:, None]",
             f"    margins = np.maximum(0, scores - correct{margin})"]
    if zero_correct:
        lines.append("    margins[np.arange(N), y] = 0")
    lines += ["    loss = margins.sum()" + divide,
              "    mask = (margins > 0).astype(float)",
              "    mask[np.arange(N), y] -= mask.sum(axis=1)",
              "    dW = X.T.dot(mask) / N",
              "    return add_regularization(loss, dW, W, reg)"]
    return "\n".join(lines) + "\n"


SVM_LOOPING = '''    N = X.shape[0]
    loss, dscores = 0.0, np.zeros((N, W.shape[1]))
    for i in range(N):  # "vectorised", one example at a time
        scores = X[i].dot(W)
        margins = np.maximum(0, scores - scores[y[i]] + 1)
        margins[y[i]] = 0
        loss += margins.sum() / N
        dscores[i] = (margins > 0) / N
        dscores[i, y[i]] = -np.sum(margins > 0) / N
    return add_regularization(loss, X.T.dot(dscores), W, reg)
'''

SOFTMAX_INLINE = '''    N = X.shape[0]
    scores = X.dot(W)
    scores -= scores.max(axis=1, keepdims=True)
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    loss = {loss}
    dscores = probs.copy()
{correct}    return add_regularization(loss, X.T.dot(dscores) / N, W, reg)
'''
RIGHT_LOSS = "-np.log(probs[np.arange(N), y]).mean()"
MINUS_ONE = "    dscores[np.arange(N), y] -= 1\n"

NO_LOOPS = '''        squared = (np.sum(X ** 2, axis=1)[:, None]
                   - 2 * X @ self.X_train.T
                   + np.sum(self.X_train ** 2, axis=1)[None, :])'''
VOTES = '''        votes = np.zeros((num_test, int(self.y_train.max()) + 1), dtype=np.int64)
        np.add.at(votes, (np.arange(num_test)[:, None], closest_y), 1)
        # argmax returns the first maximum: the smaller label wins a tie (np.argmax(np.bincount(...))).
        return np.argmax(votes, axis=1)'''

MUTANTS = [
    # ---- the SVM loss
    mutant("svm_naive_no_margin", "wrote the hinge without its margin of 1", SVM,
           "margin = scores[j] - correct_class_score + DELTA", "margin = scores[j] - correct_class_score",
           "linear.svm_naive.value", "margin"),
    mutant("svm_naive_no_correct_column", "forgot dW[:, y[i]] -= X[i] for each violated margin", SVM,
           "                dW[:, y[i]] -= X[i]\n", "", "linear.svm_naive.gradcheck", "correct class"),
    mutant("svm_naive_dw_not_averaged", "divided the loss by num_train but not dW", SVM,
           "return add_regularization(loss / num_train, dW / num_train, W, reg)",
           "return add_regularization(loss / num_train, dW, W, reg)", "linear.svm_naive.gradcheck", BATCH),
    mutant("svm_naive_counts_correct_class", "dropped the `if j == y[i]: continue`, so the correct class adds 1",
           SVM, "            if j == y[i]:\n                continue\n", "", "linear.svm_naive.value", "correct class"),
    mutant("svm_vectorized_no_margin", "vectorised hinge without the + 1", SVM, SVM_VECTORIZED,
           svm_inline(margin=""), "linear.svm_vectorized.value", "margin"),
    mutant("svm_vectorized_correct_class_counted", "never zeroed the margins of the correct class", SVM,
           SVM_VECTORIZED, svm_inline(zero_correct=False), "linear.svm_vectorized.value", "correct class"),
    mutant("svm_vectorized_summed", "summed the hinge over the minibatch without dividing by N", SVM,
           SVM_VECTORIZED, svm_inline(divide=""), "linear.svm_vectorized.value", BATCH),
    mutant("svm_vectorized_loops", "a vectorised loss that still loops over the examples", SVM, SVM_VECTORIZED,
           SVM_LOOPING, "linear.svm_vectorized.no_loops", "loop"),
    mutant("svm_vectorized_dw_transposed", "dW = dscores.T @ X: the gradient comes out (C, D)", SVM,
           "return add_regularization(data_loss, X.T @ dscores, W, reg)",
           "return add_regularization(data_loss, dscores.T @ X, W, reg)", "linear.svm_vectorized.*",
           "transpos|shape"),
    # ---- regularisation (add_regularization serves all four losses)
    mutant("reg_gradient_of_2016_with_2017_loss", "loss += reg * sum(W**2) but dW += reg * W (the years mixed)",
           SVM, REG, "    return float(data_loss + reg * np.sum(W * W)), data_dW + reg * W\n",
           ("linear.svm_naive.reg", "linear.softmax_vectorized.reg"), "2 * reg * W",
           also=("linear.*",)),
    mutant("reg_missing_from_loss", "added reg * W to dW but no penalty to the loss", SVM, REG,
           "    return float(data_loss), data_dW + 2 * reg * W\n", "linear.svm_vectorized.reg",
           "penalty|does not change", also=("linear.*",)),
    mutant("reg_missing_from_gradient", "added the penalty to the loss but not its gradient", SVM, REG,
           "    return float(data_loss + reg * np.sum(W * W)), data_dW\n", "linear.softmax_naive.reg",
           "no regularisation gradient", also=("linear.*",)),
    # ---- the softmax loss
    mutant("softmax_naive_sign", "wrote the log-likelihood, not its negative", SOFTMAX,
           "loss += log_sum_exp - scores[y[i]]", "loss += scores[y[i]] - log_sum_exp",
           "linear.softmax_naive.value", "sign|minus"),
    mutant("softmax_naive_no_minus_one", "forgot dscores[y[i]] -= 1", SOFTMAX,
           "        dscores[y[i]] -= 1\n", "", "linear.softmax_naive.gradcheck", "correct class|-1"),
    mutant("softmax_naive_dw_twice_averaged", "divided each example's dW by N and then the sum by N again",
           SOFTMAX, "dW += np.outer(X[i], dscores)", "dW += np.outer(X[i], dscores) / num_train",
           "linear.softmax_naive.gradcheck", BATCH),
    mutant("softmax_vectorized_log10", "took np.log10 of the probabilities", SOFTMAX, SOFTMAX_VECTORIZED,
           SOFTMAX_INLINE.format(loss="-np.log10(probs[np.arange(N), y]).mean()", correct=MINUS_ONE),
           "linear.softmax_vectorized.value", "log"),
    mutant("softmax_vectorized_no_minus_one", "dscores = probs, without the -1 at the correct class", SOFTMAX,
           SOFTMAX_VECTORIZED, SOFTMAX_INLINE.format(loss=RIGHT_LOSS, correct=""),
           "linear.softmax_vectorized.gradcheck", "correct class|-1"),
    mutant("softmax_vectorized_summed", "summed the cross-entropy over the minibatch", SOFTMAX, SOFTMAX_VECTORIZED,
           SOFTMAX_INLINE.format(loss="-np.log(probs[np.arange(N), y]).sum()", correct=MINUS_ONE),
           "linear.softmax_vectorized.value", BATCH),
    mutant("softmax_vectorized_loops", "the vectorised softmax calls the naive one", SOFTMAX, SOFTMAX_VECTORIZED,
           "    return softmax_loss_naive(W, X, y, reg)\n", "linear.softmax_vectorized.no_loops", "loop"),
    # ---- LinearClassifier
    mutant("train_uphill", "self.W += learning_rate * grad", LINEAR, "self.W -= learning_rate * grad",
           "self.W += learning_rate * grad", "linear.classifier.train", "against the gradient|W -="),
    mutant("train_whole_set", "trained on the whole training set at every step", LINEAR,
           "batch = random.choice(num_train, batch_size, replace=True)", "batch = np.arange(num_train)",
           "linear.classifier.train", "minibatch|batch_size"),
    mutant("train_labels_drawn_apart", "sampled y_batch with indices of its own", LINEAR,
           "loss, grad = self.loss(X[batch], y[batch], reg)",
           "loss, grad = self.loss(X[batch], y[random.choice(num_train, batch_size)], reg)",
           "linear.classifier.train", "labels"),
    mutant("train_no_history", "never appended the loss to loss_history", LINEAR,
           "            loss_history.append(loss)\n", "", "linear.classifier.train", "loss_history"),
    mutant("train_ignores_learning_rate", "self.W -= grad", LINEAR, "self.W -= learning_rate * grad",
           "self.W -= grad", "linear.classifier.train", "learning_rate"),
    mutant("predict_over_examples", "argmax over axis 0", LINEAR, "return np.argmax(X @ self.W, axis=1)",
           "return np.argmax(X @ self.W, axis=0)", "linear.classifier.predict", "axis|shape"),
    # ---- kNN
    mutant("knn_two_loops_no_sqrt", "returned squared distances", KNN,
           "dists[i, j] = np.sqrt(np.sum((X[i] - self.X_train[j]) ** 2))",
           "dists[i, j] = np.sum((X[i] - self.X_train[j]) ** 2)", "knn.two_loops.distances", "square root"),
    mutant("knn_one_loop_l1", "the L1 distance in the one-loop version", KNN,
           "dists[i] = np.sqrt(np.sum((self.X_train - X[i]) ** 2, axis=1))",
           "dists[i] = np.sum(np.abs(self.X_train - X[i]), axis=1)", "knn.one_loop.distances", "L1"),
    mutant("knn_no_loops_sign", "|x|^2 + 2 x.t + |t|^2", KNN, "- 2 * X @ self.X_train.T", "+ 2 * X @ self.X_train.T",
           "knn.no_loops.distances", "sign"),
    mutant("knn_no_loops_loops", "the no-loops version loops over the test points", KNN, NO_LOOPS,
           "        squared = np.array([np.sum((self.X_train - x) ** 2, axis=1) for x in X])",
           "knn.no_loops.vectorised", "loop"),
    mutant("knn_no_loops_transposed", "dists built (num_train, num_test)", KNN,
           "return np.sqrt(np.maximum(squared, 0))", "return np.sqrt(np.maximum(squared, 0)).T",
           "knn.no_loops.distances", "num_test, num_train|transpos"),
    mutant("knn_ties_by_counter", "Counter.most_common breaks ties by the first label met", KNN, VOTES,
           "        from collections import Counter\n"
           "        return np.array([Counter(row.tolist()).most_common(1)[0][0] for row in closest_y])",
           "knn.predict_labels.ties", "smallest label|smaller"),
    mutant("knn_farthest", "sorted the distances in decreasing order", KNN,
           'nearest = np.argsort(dists, axis=1, kind="stable")[:, :k]',
           'nearest = np.argsort(-dists, axis=1, kind="stable")[:, :k]', "knn.predict_labels.majority",
           "nearest"),
    mutant("knn_k_ignored", "predict_labels looks at the nearest point only", KNN,
           'nearest = np.argsort(dists, axis=1, kind="stable")[:, :k]',
           'nearest = np.argsort(dists, axis=1, kind="stable")[:, :1]', "knn.predict_labels.majority",
           "k=5", pattern="nearest_wrong"),
    mutant("knn_predict_k_lost", "predict forgets to pass k on", KNN, "return self.predict_labels(dists, k=k)",
           "return self.predict_labels(dists)", "knn.predict.labels", "predict",
           pattern="nearest_wrong"),
    # ---- the assignment-1 two-layer net
    mutant("net_reg_gradient_half", "grads W1 += reg * W1 for a loss with reg * sum(W1**2)", NET,
           'grads["W1"] += 2 * reg * p["W1"]', 'grads["W1"] += reg * p["W1"]', "models.two_layer_net.gradcheck",
           "dW1|W1"),
    mutant("net_reg_without_w2", "left W2 out of the penalty", NET,
           'loss = data_loss + reg * (np.sum(p["W1"] * p["W1"]) + np.sum(p["W2"] * p["W2"]))',
           'loss = data_loss + reg * np.sum(p["W1"] * p["W1"])', "models.two_layer_net.reg_rises", "W2"),
    mutant("net_zero_init", "initialised W1 with zeros", NET, '"W1": std * randn(input_size, hidden_size)',
           '"W1": np.zeros((input_size, hidden_size))', "models.two_layer_net.init", "zero"),
    Mutant("net_no_relu", "no ReLU in the forward pass, and a backward pass to match (gradients still agree)",
           (Edit(NET, 'hidden, hidden_cache = affine_relu_forward(X, p["W1"], p["b1"])',
                 'hidden, hidden_cache = affine_forward(X, p["W1"], p["b1"])'),
            Edit(NET, '_, grads["W1"], grads["b1"] = affine_relu_backward(dhidden, hidden_cache)',
                 '_, grads["W1"], grads["b1"] = affine_backward(dhidden, hidden_cache)')),
           ("models.two_layer_net.scores",), ("scores",), assignment=1),
    mutant("net_train_uphill", "self.params[name] += learning_rate * grad", NET,
           "self.params[name] -= learning_rate * grad", "self.params[name] += learning_rate * grad",
           "models.two_layer_net.train", "against the gradient"),
    mutant("net_train_labels_apart", "drew y_batch with indices of its own", NET,
           "X_batch, y_batch = X[batch], y[batch]",
           "X_batch, y_batch = X[batch], y[random.choice(num_train, batch_size)]",
           "models.two_layer_net.train", "labels"),
    mutant("net_predict_over_examples", "argmax over axis 0", NET, "return np.argmax(self.loss(X), axis=1)",
           "return np.argmax(self.loss(X), axis=0)", "models.two_layer_net.predict", "axis"),
]


SVM_MASKS = '''    N = X.shape[0]
    scores = X.dot(W)
    margins = np.maximum(0, scores - scores[np.arange(N), y][:, np.newaxis] + 1.0)
    margins[np.arange(N), y] = 0
    loss = np.sum(margins) / N
    X_mask = np.zeros(margins.shape)
    X_mask[margins > 0] = 1
    X_mask[np.arange(N), y] = -np.sum(X_mask, axis=1)
    return add_regularization(loss, X.T.dot(X_mask) / N, W, reg)
'''

VARIANTS = [
    variant("a1_reg_2016", "winter 2016's convention throughout: 0.5 * reg * sum(W**2), gradient reg * W",
            Edit(SVM, REG, "    return float(data_loss + 0.5 * reg * np.sum(W * W)), data_dW + reg * W\n"),
            Edit(NET, 'loss = data_loss + reg * (np.sum(p["W1"] * p["W1"]) + np.sum(p["W2"] * p["W2"]))',
                 'loss = data_loss + 0.5 * reg * (np.sum(p["W1"] * p["W1"]) + np.sum(p["W2"] * p["W2"]))'),
            Edit(NET, 'grads["W1"] += 2 * reg * p["W1"]', 'grads["W1"] += reg * p["W1"]'),
            Edit(NET, 'grads["W2"] += 2 * reg * p["W2"]', 'grads["W2"] += reg * p["W2"]')),
    variant("a1_svm_masks", "the vectorised SVM with an explicit mask of violated margins, as 2016 solutions",
            Edit(SVM, SVM_VECTORIZED, SVM_MASKS)),
    variant("a1_softmax_probabilities", "the vectorised softmax from probabilities, not log-probabilities",
            Edit(SOFTMAX, SOFTMAX_VECTORIZED, SOFTMAX_INLINE.format(loss=RIGHT_LOSS, correct=MINUS_ONE))),
    variant("a1_knn_broadcast", "no-loops distances by broadcasting a (num_test, num_train, D) difference",
            Edit(KNN, NO_LOOPS, "        squared = ((X[:, None, :] - self.X_train[None, :, :]) ** 2).sum(axis=2)")),
    variant("a1_knn_bincount", "votes counted per test point with np.bincount (a loop over the test points)",
            Edit(KNN, VOTES, "        return np.array([np.argmax(np.bincount(row)) for row in closest_y])")),
    variant("a1_train_without_replacement", "minibatches drawn without replacement",
            Edit(LINEAR, "batch = random.choice(num_train, batch_size, replace=True)",
                 "batch = random.choice(num_train, batch_size, replace=False)")),
]
