# %% [markdown]
# # Transfer learning: cats vs dogs with a small dataset
#
# Deep networks need many examples, and you have 2,000 photos. This lab shows four ways to make
# the most of them, each a step up from the one before:
#
# 1. **Data augmentation** (`augmentation.py`): random flips, shifts and zooms turn each photo
#    into many plausible ones; test-time augmentation (ten crops) averages predictions.
# 2. **A small convnet from scratch** (`scratch.py`), first plain, then with augmentation and
#    dropout, to see overfitting and how much those two buy back.
# 3. **A frozen ImageNet-pretrained base** (`feature_extraction.py`): reuse what MobileNetV2
#    learned from 1.2 million images, first as fixed features for a linear classifier, then as
#    the frozen body of a model with a new head.
# 4. **Fine-tuning** (`fine_tuning.py`): unfreeze the top of the base and train a little more,
#    gently.
#
# You write the functions in the four modules next to this notebook; each docstring says exactly
# what it must return. This notebook only drives them and shows what they do. `course check`
# runs the public checks on your modules; the grader trains your models itself, on the budget of
# a *profile*, and measures them on photos you never see. The budgets below are the grader's, so
# what you see here is close to what it will measure.

# %%
# %load_ext autoreload
# %autoreload 2
# Edits to your modules are picked up at the next cell you run, without restarting the kernel.

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

import augmentation
import feature_extraction
import fine_tuning
import scratch
from autograder.student import imagenet_weights, lab_profile, lab_runs, load_training_data

PROFILE = "smoke"  # "smoke": a few minutes on a laptop; "cpu": the full lab; "gpu": the published recipes
profile = lab_profile(PROFILE)
SEED = profile.seed
print(f"Profile {PROFILE!r}: {profile.description}")

results = {}  # run name -> validation accuracy, for the table at the end


def plot_curves(histories, fine_tuning_starts=None):
    """Loss and accuracy, training and validation, of each `History` (one column each).

    `fine_tuning_starts`: the epoch where fine-tuning took over a frozen run, drawn as a line.
    """
    fig, axes = plt.subplots(2, len(histories), figsize=(5 * len(histories), 6), squeeze=False)
    for column, (name, history) in enumerate(histories.items()):
        for row, metric in enumerate(("loss", "accuracy")):
            ax = axes[row][column]
            epochs = np.arange(1, len(history[metric]) + 1)
            ax.plot(epochs, history[metric], label="train")
            ax.plot(epochs, history[f"val_{metric}"], label="validation")
            if fine_tuning_starts is not None:
                ax.axvline(fine_tuning_starts + 0.5, color="grey", linestyle="--", label="fine-tuning starts")
            ax.set_title(f"{name}: {metric}")
            ax.set_xlabel("epoch")
            ax.legend()
    plt.tight_layout()
    plt.show()


# %% [markdown]
# ## The data
#
# Photos of different sizes, resized to a square; label 1 is a dog, 0 a cat. The two classes are
# balanced, so a model that guesses does 50%.

# %%
size = profile.scratch.image_size
train, validation = load_training_data(size, PROFILE)
print(f"training: {len(train.labels)} images, {int(train.labels.sum())} dogs; "
      f"validation: {len(validation.labels)} images, {int(validation.labels.sum())} dogs; {size}x{size} px")
shown = np.concatenate([np.flatnonzero(train.labels == 0)[:8], np.flatnonzero(train.labels == 1)[:8]])
fig, axes = plt.subplots(2, 8, figsize=(16, 4.5))
for ax, image, label in zip(axes.flat, train.images[shown], train.labels[shown]):
    ax.imshow(image.astype("uint8"))
    ax.set_title("dog" if label == 1 else "cat")
    ax.axis("off")
plt.show()

# %% [markdown]
# ## Part 1: data augmentation
#
# Augmentation shows the model a slightly different photo at every epoch: a cat flipped left to
# right, shifted or zoomed is still a cat, so the model must learn what makes it one rather than
# memorise pixels. The block is made of Keras preprocessing layers, which are only active while
# training: at inference (`training=False`) it must leave the image alone.

# %%
augment = augmentation.build_augmentation(size, size, seed=SEED)
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
# **Question (not graded).** Why flip left to right but not upside down? Which augmentation
# would be wrong for handwritten digits?

# %% [markdown]
# ## Part 2: a small convnet from scratch
#
# First without augmentation, then with augmentation and dropout. Watch the gap between the
# training and validation curves: when training accuracy keeps rising while validation loss
# turns up, the model is memorising the 2,000 photos, which is overfitting.

# %%
x_train, y_train = train.images.astype("float32"), train.labels
x_val, y_val = validation.images.astype("float32"), validation.labels
scratch_batch = profile.scratch.batch_size or profile.batch_size  # the grader's batch size for this model
histories = {}
for name, augmented in [("scratch", False), ("scratch_augmented", True)]:
    block = augmentation.build_augmentation(size, size, seed=SEED) if augmented else None
    model = scratch.build_scratch_cnn((size, size, 3), augmentation=block,
                                      dropout=profile.scratch.dropout if augmented else 0.0)
    model = scratch.compile_scratch_cnn(model)
    history = model.fit(x_train, y_train, validation_data=(x_val, y_val),
                        epochs=profile.scratch.epochs, batch_size=scratch_batch, verbose=0)
    histories[name] = history.history
    results[name] = model.evaluate(x_val, y_val, verbose=0)[1]
plot_curves(histories)

# %% [markdown]
# **Question (not graded).** With augmentation, training accuracy is lower than without. Why is
# that not a bad sign? How many epochs would the augmented model need to catch up?

# %% [markdown]
# ## Part 3: a frozen pretrained base
#
# MobileNetV2 was trained on ImageNet, where cats and dogs are among the classes: its
# convolutional layers already compute features that tell them apart. A **frozen** base is one
# whose weights do not change (`trainable = False`): only what you put on top learns. That
# keeps the 2,000 photos from overwriting what 1.2 million taught it.
#
# (a) Compute the features once, with the base in inference mode, and fit a linear classifier
# on them. (b) Put the frozen base inside a model, after augmentation and MobileNetV2's own
# preprocessing, with a new head, and train only the head. The base is called with
# `training=False`, so its BatchNormalization layers keep using the statistics they learned on
# ImageNet instead of the statistics of each small batch.

# %%
size = profile.base.image_size
train, validation = load_training_data(size, PROFILE)
x_train, y_train = train.images.astype("float32"), train.labels
x_val, y_val = validation.images.astype("float32"), validation.labels
base = feature_extraction.load_base((size, size, 3), alpha=profile.base.alpha, weights=imagenet_weights(PROFILE))
print(f"base: {base.count_params():,} parameters, {len(base.trainable_weights)} trainable weight tensors")

classifier = feature_extraction.fit_linear_classifier(feature_extraction.extract_features(base, x_train), y_train)
probabilities = classifier.predict_proba(feature_extraction.extract_features(base, x_val))[:, 1]
results["linear_classifier"] = float(np.mean((probabilities >= 0.5) == y_val))

model = feature_extraction.build_transfer_model(
    base, augmentation.build_augmentation(size, size, seed=SEED), dropout=profile.transfer.dropout
)
model = feature_extraction.compile_transfer_model(model, learning_rate=profile.transfer.learning_rate)
model.summary(show_trainable=True)
frozen = model.fit(x_train, y_train, validation_data=(x_val, y_val),
                   epochs=profile.transfer.epochs, batch_size=profile.batch_size, verbose=0)
results["frozen_base"] = model.evaluate(x_val, y_val, verbose=0)[1]
print(f"frozen features + linear classifier: {results['linear_classifier']:.3f}; "
      f"frozen base + new head: {results['frozen_base']:.3f}")

# %% [markdown]
# **Question (not graded).** The linear classifier never sees an augmented photo, yet it is close
# to the end-to-end model. What does that say about where the knowledge is?

# %% [markdown]
# ## Part 4: fine-tuning
#
# Now unfreeze the top of the base (from layer `fine_tune_at` on) so its most specific features
# can adapt to cats and dogs. Three things keep this from destroying what was learned:
#
# - **BatchNormalization layers stay frozen**, and the base still runs in inference mode, so
#   their statistics are not overwritten by small batches.
# - **A learning rate 10 to 100 times lower** than for the head: the pretrained weights are
#   already good, and large steps would wipe them out.
# - **Early stopping on the validation loss**, restoring the best weights.
#
# Changing `trainable` only takes effect once the model is compiled again. Fine-tuning continues
# the frozen run: its curves pick up where the frozen base's stopped.

# %%
fine_tuning.unfreeze_top(base, profile.fine_tuning.fine_tune_at)
model = fine_tuning.compile_for_fine_tuning(model, learning_rate=profile.fine_tuning.learning_rate)
print(f"now trainable: {len(model.trainable_weights)} weight tensors")
start = len(frozen.history["loss"])
fine = model.fit(
    x_train, y_train, validation_data=(x_val, y_val),
    initial_epoch=start, epochs=start + profile.fine_tuning.epochs, batch_size=profile.batch_size, verbose=0,
    callbacks=fine_tuning.fine_tuning_callbacks(patience=profile.fine_tuning.patience),
)
results["fine_tuned"] = model.evaluate(x_val, y_val, verbose=0)[1]  # the restored best weights, as graded
joined = {key: frozen.history[key] + fine.history[key] for key in frozen.history}
plot_curves({"frozen base, then fine-tuned": joined}, fine_tuning_starts=start)

# %% [markdown]
# **Question (not graded).** What would you expect if you fine-tuned with the head's learning
# rate, or unfroze the whole base at once?

# %% [markdown]
# ## Test-time augmentation
#
# At prediction time, look at each photo ten ways (four corners and the centre, each also
# mirrored) and average the ten predictions. It costs ten forward passes and often buys a
# point or two of accuracy, because one crop can miss the animal while the average rarely does.

# %%
_, validation_large = load_training_data(profile.tta.resize_to, PROFILE)
tta = augmentation.predict_with_tta(model, validation_large.images.astype("float32"), size)
results["fine_tuned_tta"] = float(np.mean((tta >= 0.5) == validation_large.labels))

# %% [markdown]
# ## Your results beside the published numbers
#
# The published numbers come from longer training with larger images (the `gpu` profile's
# recipes); on `smoke` yours will be lower. The order is what to look for.

# %%
rows = ["| Run | Your validation accuracy | Published | Source |", "|---|---|---|---|"]
for run in lab_runs():
    mine = f"{results[run['name']]:.3f}" if run["name"] in results else "-"
    rows.append(f"| {run['label']} | {mine} | {run['published']} | {run['source']} |")
display(Markdown("\n".join(rows)))

# %% [markdown]
# **Question (not graded).** Rank the four approaches by accuracy and by training time. Which
# would you pick with 200 photos instead of 2,000?
