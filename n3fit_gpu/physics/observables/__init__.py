"""Observables: what turns the PDF at Q0 into the predictions of a dataset.

- :mod:`.protocol`: the :class:`~.protocol.Kernel` protocol (one FK table kind) and the
  :class:`~.protocol.Observable` record (a dataset's operands and operation);
- :mod:`.dis`, :mod:`.hadronic`: the kernels;
- :mod:`.operations`: NNPDF's operations combining operands (NULL, RATIO, ASY, ADD, SMN, SMT, COM);
- :mod:`.predict`: the one prediction path, numpy and Keras.

A new kind of data is one module implementing the protocol. (Nothing is imported here, so that
``theory.py`` can use the records without a cycle through the PineAPPL reader.)
"""
