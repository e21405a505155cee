"""What a card shows on a phone: platform-neutral content, Apple and Google renderings."""
