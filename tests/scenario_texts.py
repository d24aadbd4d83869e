"""Scenario text shared by the tests: the tiny teacher-student problem
(d = 3, 16 training and 8 test points, 8 neurons) that compiles and solves
in seconds; tests add their own [solver], [save], [sweep] tables."""

TINY_PROBLEM = """[task]
d = 3
n_train = 16
n_test = 8
[system]
width = 8
"""
