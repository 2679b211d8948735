# %% [markdown]
# # Transfer learning: cats vs dogs with a small dataset
#
# You will classify photos of cats and dogs with only 2,000 training images, four ways:
#
# 1. **Data augmentation** (`augmentation.py`): random flips, shifts and zooms, and test-time
#    augmentation with ten crops.
# 2. **A small convnet from scratch** (`scratch.py`), with and without augmentation + dropout.
# 3. **A frozen ImageNet-pretrained base** (`feature_extraction.py`): its features with a linear
#    classifier, then a new head trained end to end on top of it.
# 4. **Fine-tuning** (`fine_tuning.py`): unfreeze the top of the base and train it a little more.
#
# You write the functions in the four modules next to this notebook; each docstring says exactly
# what it must return. This notebook only drives them. Run `course check` to see how your code
# fares on the public checks. The grader trains your models itself, on a budget (a *profile*),
# and measures them on images you never see.

# %%
import matplotlib.pyplot as plt
import numpy as np

import augmentation
import feature_extraction
import fine_tuning
import scratch
from autograder.student import imagenet_weights, lab_profile, load_training_data

PROFILE = "smoke"  # "smoke" runs in a minute or two on a laptop; try "cpu" for the full lab
profile = lab_profile(PROFILE)
print(profile.description)


def plot_curves(histories, metric="accuracy"):
    """Training and validation curves of several `History` objects, side by side."""
    fig, axes = plt.subplots(1, len(histories), figsize=(5 * len(histories), 3.5), squeeze=False)
    for ax, (name, history) in zip(axes[0], histories.items()):
        ax.plot(history.history[metric], label="train")
        ax.plot(history.history[f"val_{metric}"], label="validation")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.legend()
    plt.tight_layout()
    plt.show()


# %% [markdown]
# ## Part 1: data augmentation
#
# Look at what your augmentation block does to one image. Every call gives a new variant while
# training; at inference the block must leave the image alone.

# %%
size = profile.scratch.image_size
train, validation = load_training_data(size, PROFILE)
augment = augmentation.build_augmentation(size, size, seed=0)
image = train.images[:1].astype("float32")
fig, axes = plt.subplots(1, 6, figsize=(15, 3))
axes[0].imshow(image[0].astype("uint8"))
axes[0].set_title("original")
for ax in axes[1:]:
    ax.imshow(np.clip(augment(image, training=True)[0], 0, 255).astype("uint8"))
for ax in axes:
    ax.axis("off")
plt.show()
print("identity at inference:", np.allclose(augment(image, training=False), image))

# %% [markdown]
# ## Part 2: a small convnet from scratch
#
# First without augmentation, then with augmentation and dropout. Watch the gap between the
# training and validation curves: that gap is overfitting.

# %%
x_train, y_train = train.images.astype("float32"), train.labels
x_val, y_val = validation.images.astype("float32"), validation.labels
results = {}
histories = {}
for name, aug, dropout in [
    ("scratch", None, 0.0),
    ("scratch + augmentation", augmentation.build_augmentation(size, size, seed=0), profile.scratch.dropout),
]:
    model = scratch.compile_scratch_cnn(scratch.build_scratch_cnn((size, size, 3), aug, dropout))
    histories[name] = model.fit(
        x_train, y_train, validation_data=(x_val, y_val),
        epochs=profile.scratch.epochs, batch_size=profile.batch_size, verbose=0,
    )
    results[name] = histories[name].history["val_accuracy"][-1]
plot_curves(histories)

# %% [markdown]
# ## Part 3: a frozen pretrained base
#
# (a) Extract features once, with the base in inference mode, and fit a linear classifier on
# them. (b) Put the frozen base inside a model with augmentation and a new head, and train only
# the head.

# %%
size = profile.base.image_size
train, validation = load_training_data(size, PROFILE)
x_train, y_train = train.images.astype("float32"), train.labels
x_val, y_val = validation.images.astype("float32"), validation.labels
base = feature_extraction.load_base((size, size, 3), alpha=profile.base.alpha, weights=imagenet_weights(PROFILE))
classifier = feature_extraction.fit_linear_classifier(
    feature_extraction.extract_features(base, x_train), y_train
)
probabilities = classifier.predict_proba(feature_extraction.extract_features(base, x_val))[:, 1]
results["frozen features + linear classifier"] = float(np.mean((probabilities >= 0.5) == y_val))

model = feature_extraction.build_transfer_model(
    base, augmentation.build_augmentation(size, size, seed=0), dropout=profile.transfer.dropout
)
model = feature_extraction.compile_transfer_model(model, learning_rate=profile.transfer.learning_rate)
model.summary(show_trainable=True)
frozen_history = model.fit(
    x_train, y_train, validation_data=(x_val, y_val),
    epochs=profile.transfer.epochs, batch_size=profile.batch_size, verbose=0,
)
results["frozen base + new head"] = frozen_history.history["val_accuracy"][-1]

# %% [markdown]
# ## Part 4: fine-tuning
#
# Unfreeze the top of the base (BatchNormalization layers stay frozen), compile again with a low
# learning rate, and stop as soon as the validation loss starts to rise.

# %%
fine_tuning.unfreeze_top(base, profile.fine_tuning.fine_tune_at)
model = fine_tuning.compile_for_fine_tuning(model, learning_rate=profile.fine_tuning.learning_rate)
fine_history = model.fit(
    x_train, y_train, validation_data=(x_val, y_val),
    epochs=profile.fine_tuning.epochs, batch_size=profile.batch_size, verbose=0,
    callbacks=fine_tuning.fine_tuning_callbacks(patience=profile.fine_tuning.patience),
)
results["fine-tuned"] = max(fine_history.history["val_accuracy"])
plot_curves({"frozen base": frozen_history, "fine-tuned": fine_history})

# %% [markdown]
# ## Test-time augmentation, and the results side by side

# %%
_, validation_large = load_training_data(profile.tta.resize_to, PROFILE)
tta = augmentation.predict_with_tta(model, validation_large.images.astype("float32"), size)
results["fine-tuned + ten-crop TTA"] = float(np.mean((tta >= 0.5) == validation_large.labels))

plt.figure(figsize=(8, 3))
plt.barh(list(results), list(results.values()))
plt.xlim(0.5, 1.0)
plt.xlabel("validation accuracy")
plt.show()
for name, value in results.items():
    print(f"{name:40s} {value:.3f}")
