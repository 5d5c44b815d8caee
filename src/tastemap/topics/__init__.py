"""The topics stage: LDA taste topics of users over artists and songs."""
