"""Gradelab's grader: runs PyTorch autograd submissions in a child process and grades their trace."""
