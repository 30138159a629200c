"""Stand-in for the course's coco_utils.py: caption helpers, without the COCO data."""
import numpy as np

__all__ = ["load_coco_data", "decode_captions", "sample_coco_minibatch"]


def load_coco_data(*args, **kwargs):
    raise FileNotFoundError("the course's coco_utils.py is not in this tree: no COCO captions to load")


def decode_captions(captions, idx_to_word):
    """Words of each caption up to <END>, <NULL> left out (one string for a single caption)."""
    single = captions.ndim == 1
    rows = captions[None] if single else captions
    decoded = []
    for row in rows:
        words = []
        for index in row:
            word = idx_to_word[index]
            if word != "<NULL>":
                words.append(word)
            if word == "<END>":
                break
        decoded.append(" ".join(words))
    return decoded[0] if single else decoded


def sample_coco_minibatch(data, batch_size=100, split="train"):
    size = data[f"{split}_captions"].shape[0]
    mask = np.random.choice(size, batch_size)
    captions = data[f"{split}_captions"][mask]
    image_idxs = data[f"{split}_image_idxs"][mask]
    return captions, data[f"{split}_features"][image_idxs], data[f"{split}_urls"][image_idxs]
