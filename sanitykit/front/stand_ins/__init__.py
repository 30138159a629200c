"""Stand-ins for the course-provided helper files a partial upload leaves out (substitute.py).

data_utils.py, gradient_check.py, image_utils.py and coco_utils.py define nothing sanitykit
checks, but a student's module may import them (`from cs231n.data_utils import load_CIFAR10`
at the top of a classifier): when the file is missing, the module answering for it here lets
that import succeed. Each offers the course's names; what needs data or the network raises a
one-line error when called, which the checks never do.
"""
