"""What of a Meta mapping decides the bytes sent: the description the state fingerprints.

The keys are those of the TikTok description (``state/fingerprint.py`` names what changed
by them); ``source`` is the destination's action_source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reverse_etl.destinations.meta.destination import MetaEncoding

# Bump when the encoder writes the same columns differently (a new normalisation, say).
ENCODER_VERSION = 1


def describe_mapping(encoding: MetaEncoding) -> dict[str, Any]:
    """The parts of a mapping that decide the bytes sent: stable, JSON-ready."""
    import phonenumbers  # lazy: ~70 ms of start-up that validate does not need (#18)

    spec = encoding.spec
    return {
        "platform": "meta",
        "encoder": ENCODER_VERSION,
        # A new phone-number metadata release can normalise a number differently.
        "phonenumbers": phonenumbers.__version__,
        "source": spec.action_source,
        "key": list(spec.key_columns),
        "derived_event_id": spec.derive_event_id,
        "limited_data_use": spec.limited_data_use,
        "default_phone_region": spec.default_phone_region,
        "columns": {
            m.column: {
                "path": ".".join(m.path),
                "kind": m.param.kind.value if m.param else "custom",
                "hashing": m.param.hashing.value if m.param else "none",
            }
            for m in encoding.mapping.columns
        },
    }
