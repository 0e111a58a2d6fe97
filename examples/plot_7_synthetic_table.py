"""
Synthetic rows of a mixed table
===============================

A table with a text column goes into :class:`~skvae.VAETransformer` as it is: the text
column is categorical (``categorical_features="from_dtype"``) and gets a softmax over its
levels inside the model. :meth:`~skvae.VAETransformer.sample` then draws new rows, z from
the prior and each cell from p(x | z), and returns a DataFrame with the table's columns and
dtypes.

The table here is scikit-learn's iris with its species as a text column, so that the page
builds without downloads; :ref:`mixed` says what the model does with each kind of column,
and the synthesis benchmark (``benchmarks/bench_synth.py``) measures the synthetic rows of
real mixed tables against other synthesizers.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_iris

from skvae import VAETransformer

iris = load_iris(as_frame=True)
table = iris.data.assign(species=iris.target_names[iris.target])
print(table.dtypes)

vae = VAETransformer(n_components=2, random_state=0).fit(table)
synthetic = vae.sample(len(table), random_state=0)
print(synthetic.head())

# %%
# The species come out at the data's frequencies, and each species' synthetic flowers keep
# its measurements: the synthetic rows keep the link between the text column and the
# numbers.
print(synthetic["species"].value_counts())
print(synthetic.groupby("species").mean().round(2))
print(table.groupby("species").mean().round(2))

# %%
# Petal length against petal width, real rows beside synthetic ones, coloured by species.
fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharex=True, sharey=True)
for ax, rows, title in [(axes[0], table, "real"), (axes[1], synthetic, "synthetic")]:
    for species, colour in zip(iris.target_names, ["tab:blue", "tab:orange", "tab:green"]):
        chosen = rows[rows["species"] == species]
        ax.scatter(chosen["petal length (cm)"], chosen["petal width (cm)"], s=10,
                   color=colour, label=species)
    ax.set_title(f"{title} rows")
    ax.set_xlabel("petal length (cm)")
axes[0].set_ylabel("petal width (cm)")
axes[0].legend()
fig.tight_layout()
plt.show()

# %%
# ``inverse_transform`` gives the decoder's most probable table for given codes, and
# ``score_samples`` the log-likelihood of each row: densities of its measurements times
# the probability of its species.
codes = vae.transform(table)
reconstructed = vae.inverse_transform(codes)
print("species reconstructed from 2 numbers per flower:",
      f"{np.mean(reconstructed['species'] == table['species']):.0%}")
print("mean log-likelihood per row:", round(vae.score(table), 2))
