"""The ``mfsim`` command's parts (:mod:`mfsim.cli` runs them): the parser,
and the commands by what they do."""
