"""Duck types shared by kinds: conditions, Destination/KReference, DeliverySpec, Addressable."""
