"""The segment filter ``wallet``: where cards are now, by app or group, on both databases."""

from __future__ import annotations

import pytest

from app.bootstrap import Services
from app.campaigns.segments import WALLETS
from app.loyalty.errors import ValidationError
from app.services import campaigns
from app.services.programs import seed_demo
from tests import wallet_history


def test_every_wallet_value_counts_the_cards_in_it_now(real_services: Services) -> None:
    services = real_services
    with services.write_sessions() as session:
        demo = seed_demo(session, services.clock)
        session.commit()
        wallet_history.build(session, services, demo)
        now = services.clock.now()
        sizes = {
            value: campaigns.segment_size(session, demo, {"wallet": value}, now)
            for value in WALLETS
        }
        assert sizes == wallet_history.SIZES
        # The two groups split the program.
        assert sizes["any"] + sizes["none"] == campaigns.segment_size(session, demo, {}, now)
        with pytest.raises(ValidationError) as refused:
            campaigns.segment_size(session, demo, {"wallet": "huawei"}, now)
        assert set(refused.value.fields) == {"segment.wallet"}
