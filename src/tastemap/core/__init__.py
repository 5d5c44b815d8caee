"""Infrastructure every stage uses: the results layout, logging, job exit, the model
store and the guarded hooks into other libraries."""
