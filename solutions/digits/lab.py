# %% [markdown]
# # Handwritten digits: a dense network and a small convnet
#
# scikit-learn ships 1,797 handwritten digits as 8x8 grey images (values 0 to 16), ten classes.
# You will classify them twice, with the Keras functional API:
#
# 1. **A dense network** (`dense.py`): rescale, flatten, one hidden layer, dropout, softmax.
# 2. **A small convnet** (`convnet.py`): two 3x3 convolutions, pooling, softmax.
#
# You write the functions in the two modules next to this notebook; each docstring says exactly
# what it must return. This notebook only drives them. Run `course check` to see how your code
# fares on the public checks. The grader trains your models itself, on a budget (a *profile*),
# and measures them on 397 digits you never see.

# %%
# Reload your modules each time a cell runs, so edits to dense.py and convnet.py are picked up.
# %load_ext autoreload
# %autoreload 2

# %%
import matplotlib.pyplot as plt
import numpy as np

import convnet
import dense
from autograder.student import lab_profile, load_training_data

PROFILE = "smoke"  # "smoke" trains in seconds; "cpu" trains longer, as the grader's full budget
profile = lab_profile(PROFILE)
print(profile.description)

# %% [markdown]
# ## The data
#
# Each image is 8x8 pixels, one channel. Labels are the digits themselves (0 to 9), so the loss
# is *sparse* categorical cross-entropy: integer labels, one softmax probability per class.

# %%
train, validation = load_training_data(8, PROFILE)
x_train, y_train = train.images.astype("float32"), train.labels
x_val, y_val = validation.images.astype("float32"), validation.labels
print(f"{len(x_train)} training and {len(x_val)} validation images of shape {x_train.shape[1:]}")
fig, axes = plt.subplots(2, 8, figsize=(12, 3))
for ax, image, label in zip(axes.ravel(), x_train, y_train):
    ax.imshow(image[..., 0], cmap="gray_r")
    ax.set_title(str(label))
    ax.axis("off")
plt.show()


def plot_history(histories):
    """Loss and accuracy, training and validation, for each model side by side."""
    fig, axes = plt.subplots(2, len(histories), figsize=(5 * len(histories), 6), squeeze=False)
    for column, (name, history) in enumerate(histories.items()):
        for row, metric in enumerate(("loss", "accuracy")):
            ax = axes[row][column]
            ax.plot(history.history[metric], label="train")
            ax.plot(history.history[f"val_{metric}"], label="validation")
            ax.set_title(f"{name}: {metric}")
            ax.set_xlabel("epoch")
            ax.legend()
    plt.tight_layout()
    plt.show()


# %% [markdown]
# ## Part 1: a dense network
#
# Flattening throws away which pixels are neighbours; the network must learn every position on
# its own. Dropout after the hidden layer keeps it from memorising 1,200 images.

# %%
budget = profile.dense
model = dense.build_dense_network((8, 8, 1), hidden_units=budget.hidden_units, dropout=budget.dropout)
model = dense.compile_dense_network(model, learning_rate=budget.learning_rate)
model.summary()
histories = {}
histories["dense"] = model.fit(
    x_train, y_train, validation_data=(x_val, y_val), epochs=budget.epochs, batch_size=profile.batch_size, verbose=0
)
print(f"dense: validation accuracy {histories['dense'].history['val_accuracy'][-1]:.3f}")

# %% [markdown]
# ## Part 2: a small convnet
#
# A 3x3 convolution looks at a pixel with its neighbours, and shares its weights across the
# image: fewer parameters than the dense network's first layer, and strokes are recognised
# wherever they are.

# %%
budget = profile.convnet
model = convnet.build_convnet((8, 8, 1), filters=budget.filters, dropout=budget.dropout)
model = convnet.compile_convnet(model, learning_rate=budget.learning_rate)
model.summary()
histories["convnet"] = model.fit(
    x_train, y_train, validation_data=(x_val, y_val), epochs=budget.epochs, batch_size=profile.batch_size, verbose=0
)
print(f"convnet: validation accuracy {histories['convnet'].history['val_accuracy'][-1]:.3f}")
plot_history(histories)

# %% [markdown]
# ## What the convnet gets wrong
#
# The digits the convnet misreads on the validation split, with what it predicted.

# %%
predicted = np.argmax(model.predict(x_val, verbose=0), axis=1)
wrong = np.flatnonzero(predicted != y_val)[:8]
fig, axes = plt.subplots(1, max(len(wrong), 1), figsize=(12, 2), squeeze=False)
for ax, index in zip(axes[0], wrong):
    ax.imshow(x_val[index, ..., 0], cmap="gray_r")
    ax.set_title(f"{y_val[index]} read as {predicted[index]}")
    ax.axis("off")
plt.show()
