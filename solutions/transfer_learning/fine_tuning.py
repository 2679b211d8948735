"""Part 4: fine-tuning the top layers of the pretrained base.

Once the new head has trained, we unfreeze the top of the base and train it a little more,
with a learning rate small enough not to wreck what it learned on ImageNet.
"""

import keras
from keras import layers


def unfreeze_top(base, fine_tune_at):
    """Make the top of the base trainable, in place.

    Every layer of `base.layers` from index `fine_tune_at` on becomes trainable; the layers
    before it stay frozen, and every BatchNormalization layer stays frozen wherever it is
    (its moving statistics and its scale and offset).

    Args:
        base: the pretrained base (a `keras.Model`).
        fine_tune_at: the index in `base.layers` of the first layer to unfreeze.

    Returns:
        None. Remember to compile the model again afterwards: trainability changes take
        effect at compile time.

    Raises:
        ValueError: `fine_tune_at` is not an index of `base.layers`.
    """
    # BEGIN SOLUTION Set base.trainable = True, then freeze layers before fine_tune_at and every BatchNormalization.
    if not 0 <= fine_tune_at < len(base.layers):
        raise ValueError(
            f"Expected fine_tune_at between 0 and {len(base.layers) - 1}. "
            f"Received: fine_tune_at={fine_tune_at}"
        )
    base.trainable = True
    for index, layer in enumerate(base.layers):
        if index < fine_tune_at or isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
    # END SOLUTION


def compile_for_fine_tuning(model, learning_rate=1e-5):
    """Compile the model again for fine-tuning, with a low learning rate.

    Optimizer RMSprop with `learning_rate`, binary cross-entropy on probabilities
    (from_logits=False), and the "accuracy" metric.

    Args:
        model: the transfer model whose base was just partly unfrozen.
        learning_rate: RMSprop's learning rate (small: the base is already good).

    Returns:
        The same model, compiled.
    """
    # BEGIN SOLUTION model.compile with keras.optimizers.RMSprop(learning_rate=learning_rate).
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=["accuracy"],
    )
    return model
    # END SOLUTION


def fine_tuning_callbacks(patience=3):
    """The callbacks for fine-tuning: stop when the validation loss starts to rise.

    Args:
        patience: how many epochs without improvement of the validation loss to wait.

    Returns:
        A list holding one `keras.callbacks.EarlyStopping` that monitors "val_loss" with this
        patience and restores the weights of the best epoch.
    """
    # BEGIN SOLUTION keras.callbacks.EarlyStopping(monitor=..., patience=..., restore_best_weights=...).
    return [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience, restore_best_weights=True
        )
    ]
    # END SOLUTION
