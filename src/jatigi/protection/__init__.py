"""Protection and GBV case management under survivor-centred confidentiality."""
