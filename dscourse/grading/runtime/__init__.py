"""Files copied into the grading sandbox: the child's runner, its wire codec and a small
``dscourse`` stand-in. They use only the standard library (and numpy when present), because
the child cannot see the real ``dscourse`` package (that is the point of the sandbox)."""
