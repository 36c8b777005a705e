"""Raman bands that more than one stage reads images or peaks from."""

#: CH-stretch band (rel. 1/cm): the simulator's SNR channel lies in it and the
#: prediction check scores its image by default (config.yaml ``predict: band``).
CH_BAND = (2800.0, 3000.0)
