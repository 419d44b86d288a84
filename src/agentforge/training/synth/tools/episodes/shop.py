"""A shop database: catalog search, a cart, checkout, order status and refunds."""

from __future__ import annotations

import random

from agentforge.training.synth.tools.episodes.base import ToolEnv, ToolError, integer, number, string, tool
from agentforge.training.synth.tools.episodes.episode import Episode, failed
from agentforge.training.synth.tools.episodes.words import choose, date, money

_KINDS = ("headphones", "running shoes", "coffee grinder", "yoga mat", "desk lamp", "backpack", "water bottle",
          "phone case", "keyboard", "kettle", "umbrella", "notebook", "tent", "blender", "sunglasses", "webcam",
          "hiking socks", "air purifier", "frying pan", "bike helmet", "power bank")
_BRANDS = ("Nimbus", "Orca", "Vela", "Kestrel", "Tundra", "Lumo", "Pico", "Arbor", "Zephyr", "Quill", "Brisa", "Halden",
           "Moku", "Sable", "Ferro")
_STATUSES = ("processing", "shipped", "delivered")


class Shop(ToolEnv):
    NAME = "shop"

    @classmethod
    def random(cls, rng: random.Random) -> "Shop":
        state = {"currency": rng.choice(("USD", "EUR", "GBP")), "products": {}, "cart": {}, "orders": {},
                 "next_order": rng.randint(10000, 90000)}
        for kind in rng.sample(_KINDS, 5):
            for brand in rng.sample(_BRANDS, rng.randint(2, 3)):
                sku = f"SKU-{rng.randint(100000, 999999)}"
                state["products"][sku] = {"name": f"{brand} {kind}", "price": rng.randint(5, 250) - 0.01,
                                          "stock": rng.choice((0, 1, 2, 3, 5, 12, 40))}
        for _ in range(2):
            sku = rng.choice(list(state["products"]))
            state["orders"][f"ORD-{rng.randint(10000, 99999)}"] = {
                "items": [{"sku": sku, "quantity": 1}], "total": state["products"][sku]["price"],
                "status": rng.choice(_STATUSES), "placed": date(rng), "refunded": False}
        return cls(state)

    def _product(self, sku: str) -> dict:
        if sku not in self.state["products"]:
            raise ToolError(f"unknown product '{sku}'")
        return self.state["products"][sku]

    def _order(self, order_id: str) -> dict:
        if order_id not in self.state["orders"]:
            raise ToolError(f"no order with id '{order_id}'")
        return self.state["orders"][order_id]

    def _cart(self) -> dict:
        items = [{"sku": s, "name": self.state["products"][s]["name"], "quantity": q} for s, q in self.state["cart"].items()]
        subtotal = sum(self.state["products"][s]["price"] * q for s, q in self.state["cart"].items())
        return {"items": items, "subtotal": round(subtotal, 2), "currency": self.state["currency"]}

    @tool("Search the product catalog by keywords.", names=("search_catalog", "find_products", "lookupProducts"),
          required=("query",), query=string("Words to look for in product names"),
          max_price=number("Only products at or below this price"))
    def search_catalog(self, query: str, max_price: float | None = None) -> dict:
        words = query.lower().split()
        hits = [{"sku": s, "name": p["name"], "price": p["price"], "in_stock": p["stock"]}
                for s, p in self.state["products"].items()
                if all(w in p["name"].lower() for w in words) and (max_price is None or p["price"] <= max_price)]
        return {"results": sorted(hits, key=lambda h: h["price"]), "currency": self.state["currency"]}

    @tool("Add a product to the shopping cart.", names=("add_to_cart", "put_in_basket", "cartAddItem"), required=("sku",),
          sku=string("Product SKU from the catalog"), quantity=integer("How many", minimum=1, default=1))
    def add_to_cart(self, sku: str, quantity: int = 1) -> dict:
        p = self._product(sku)
        want = self.state["cart"].get(sku, 0) + quantity
        if want > p["stock"]:
            raise ToolError(f"only {p['stock']} of {sku} in stock" if p["stock"] else f"{sku} is out of stock")
        self.state["cart"][sku] = want
        return self._cart()

    @tool("Show the shopping cart and its subtotal.", names=("view_cart", "show_basket", "getCartContents"))
    def view_cart(self) -> dict:
        return self._cart()

    @tool("Buy everything in the cart.", names=("checkout_cart", "complete_purchase", "submitCheckout"),
          shipping=string("Shipping speed", enum=["standard", "express"], default="standard"))
    def checkout_cart(self, shipping: str = "standard") -> dict:
        if not self.state["cart"]:
            raise ToolError("the cart is empty")
        cart = self._cart()
        fee = 0.0 if shipping == "standard" else 9.99
        order_id = f"ORD-{self.state['next_order']}"
        self.state["next_order"] += 1
        for sku, q in self.state["cart"].items():
            self.state["products"][sku]["stock"] -= q
        total = round(cart["subtotal"] + fee, 2)
        self.state["orders"][order_id] = {"items": [{"sku": i["sku"], "quantity": i["quantity"]} for i in cart["items"]],
                                          "total": total, "status": "processing", "placed": "today", "refunded": False}
        self.state["cart"] = {}
        return {"order_id": order_id, "total": total, "currency": cart["currency"], "shipping": shipping}

    @tool("Status of an order.", names=("order_status", "track_purchase", "getOrderState"), required=("order_id",),
          order_id=string("Order id, e.g. ORD-12345"))
    def order_status(self, order_id: str) -> dict:
        o = self._order(order_id)
        return {"order_id": order_id, "status": "refunded" if o["refunded"] else o["status"], "placed": o["placed"],
                "total": o["total"]}

    @tool("Refund an order.", names=("request_refund", "refund_purchase", "issueRefund"), required=("order_id", "reason"),
          order_id=string("Order id"), reason=string("Why the customer wants a refund"))
    def request_refund(self, order_id: str, reason: str) -> dict:
        o = self._order(order_id)
        if o["refunded"]:
            raise ToolError(f"order {order_id} was already refunded")
        o["refunded"] = True
        return {"order_id": order_id, "refunded_amount": o["total"], "currency": self.state["currency"], "reason": reason}


def _kinds(env: Shop) -> list[str]:
    return sorted({p["name"].split(" ", 1)[1] for p in env.state["products"].values()})


def compare(rng: random.Random) -> tuple[Episode, bool]:
    env = Shop.random(rng)
    a, b = rng.sample(_kinds(env), 2)
    ep = Episode(env, rng, ["search_catalog"])
    ep.user(choose(rng, f"What {a} and {b} do you have?", f"Show me prices for {a} and for {b}.",
                   f"looking for {a}, also {b} — what's available?"))
    ra, rb = ep.call(("search_catalog", {"query": a}), ("search_catalog", {"query": b}))
    cur = ra["currency"]

    def line(hits: list[dict]) -> str:
        return "; ".join(f"{h['name']} {money(h['price'], cur)}" + ("" if h["in_stock"] else " (out of stock)") for h in hits)

    ep.say(f"{a.capitalize()}: {line(ra['results'])}.\n{b.capitalize()}: {line(rb['results'])}.")
    buyable = sorted((h for h in ra["results"] + rb["results"] if h["in_stock"]), key=lambda h: h["price"])
    if buyable and rng.random() < 0.5:  # a follow-up the results already answer: no call
        ep.user(choose(rng, "Which is the cheapest one I can actually buy?", "what's the cheapest thing in stock there?"))
        ep.say(f"The {buyable[0]['name']} at {money(buyable[0]['price'], cur)} ({buyable[0]['in_stock']} in stock).")
    return ep, bool(ra["results"]) and bool(rb["results"]) and len({h["price"] for h in buyable}) == len(buyable)


def buy(rng: random.Random) -> tuple[Episode, bool]:
    """Search, add to the cart, check out; if the results show too little stock, ask and buy what there is."""
    env = Shop.random(rng)
    kind = rng.choice(_kinds(env))
    budget = rng.random() < 0.4
    ep = Episode(env, rng, ["search_catalog", "add_to_cart", "checkout_cart"])
    want = rng.randint(1, 4)
    shipping = rng.choice(("standard", "express"))
    ship_text = " with express shipping" if shipping == "express" else ""
    if budget:
        cap = rng.choice((50, 100, 150, 200))
        ep.user(choose(rng, f"Buy {want} of the cheapest {kind} under {cap}{ship_text}.",
                       f"I want {want} {kind}, the cheapest one below {cap}{ship_text}, please order them."))
        hits = ep.one("search_catalog", {"query": kind, "max_price": cap})["results"]
    else:
        ep.user(choose(rng, f"Order {want} of the cheapest {kind} you have{ship_text}.",
                       f"buy me {want} {kind} — whichever is cheapest{ship_text}"))
        hits = ep.one("search_catalog", {"query": kind})["results"]
    hits = [h for h in hits if h["in_stock"]]
    if not hits:
        return ep, False
    pick = hits[0]
    cur = env.state["currency"]
    if pick["in_stock"] < want:  # the search result shows it: ask before touching the cart
        ep.say(f"The cheapest in-stock option is the {pick['name']} at {money(pick['price'], cur)}, but only "
               f"{pick['in_stock']} left in stock. Should I order {pick['in_stock']} instead?")
        ep.user(choose(rng, "Yes, take those.", "ok, that's fine", f"Sure, {pick['in_stock']} is fine."))
        want = pick["in_stock"]
    ep.one("add_to_cart", {"sku": pick["sku"], "quantity": want})
    args = {"shipping": shipping} if shipping == "express" or rng.random() < 0.5 else {}
    order = ep.one("checkout_cart", args)
    ep.say(choose(rng, f"Ordered {want} × {pick['name']} ({order['shipping']} shipping). Order {order['order_id']}, total "
                  f"{money(order['total'], cur)}.",
                  f"Your order {order['order_id']} is placed: {want} {pick['name']} at {money(pick['price'], cur)} each, "
                  f"{order['shipping']} shipping, {money(order['total'], cur)} in total."))
    placed = env.state["orders"].get(order.get("order_id"), {})
    return ep, placed.get("items") == [{"sku": pick["sku"], "quantity": want}] and ep.errors == 0


def refund(rng: random.Random) -> tuple[Episode, bool]:
    """Refund an order; a mistyped id gets asked about, an already refunded one gets explained."""
    env = Shop.random(rng)
    order_id = rng.choice(list(env.state["orders"]))
    reason = rng.choice(("it arrived broken", "wrong size", "it never arrived", "changed my mind", "item is defective"))
    twice = rng.random() < 0.3
    if twice:
        env.state["orders"][order_id]["refunded"] = True
    ep = Episode(env, rng, ["request_refund", "order_status"])
    typo = not twice and rng.random() < 0.4
    given = f"ORD-{int(order_id[4:]) + rng.choice((1, -1, 10))}" if typo else order_id
    if typo and given in env.state["orders"]:
        return ep, False
    ep.user(choose(rng, f"I'd like a refund for {given}, {reason}.", f"Refund order {given} please — {reason}.",
                   f"{given}: {reason}. Can I get my money back?"))
    res = ep.one("request_refund", {"order_id": given, "reason": reason})
    if typo:
        ep.say(f"I couldn't find an order {given}. Could you check the order number?")
        ep.user(choose(rng, f"Sorry, it's {order_id}.", f"typo — {order_id}", f"It should be {order_id}."))
        res = ep.one("request_refund", {"order_id": order_id, "reason": reason})
    cur = env.state["currency"]
    if twice:
        ep.say(f"Order {order_id} has already been refunded, so there is nothing more to refund.")
    else:
        ep.say(choose(rng, f"Refund issued for {order_id}: {money(res['refunded_amount'], cur)} will go back to you.",
                      f"I've refunded order {order_id} ({money(res['refunded_amount'], cur)})."))
    return ep, env.state["orders"][order_id]["refunded"] and ep.errors == int(typo or twice)


def status_then_refund(rng: random.Random) -> tuple[Episode, bool]:
    env = Shop.random(rng)
    order_id = rng.choice(list(env.state["orders"]))
    ep = Episode(env, rng, ["order_status", "request_refund"])
    ep.user(choose(rng, f"Where is my order {order_id}?", f"What's the status of {order_id}?", f"any update on {order_id}?"))
    st = ep.one("order_status", {"order_id": order_id})
    ep.say(f"Order {order_id} (placed {st['placed']}) is {st['status']}.")
    reason = rng.choice(("I don't need it anymore", "it took too long", "found it cheaper elsewhere"))
    ep.user(choose(rng, f"Please refund it, {reason}.", f"Cancel and refund it — {reason}.", f"I want my money back; {reason}."))
    res = ep.one("request_refund", {"order_id": order_id, "reason": reason})
    ep.say(f"Done: {money(res['refunded_amount'], res['currency'])} for {order_id} is being refunded.")
    return ep, env.state["orders"][order_id]["refunded"] and ep.errors == 0


def unsupported(rng: random.Random) -> tuple[Episode, bool]:
    """Changing an address is not among the tools: say what can be done instead, then do it if asked."""
    env = Shop.random(rng)
    order_id = rng.choice(list(env.state["orders"]))
    ep = Episode(env, rng, ["order_status", "request_refund"], others=False)  # the answer names what the tools can do
    street = f"{rng.randint(1, 250)} {rng.choice(('Elm Street', 'Rue Verte', 'Harbour Road', 'Lindenweg', 'Via Roma'))}"
    ep.user(choose(rng, f"Change the delivery address of {order_id} to {street}.", f"can you ship {order_id} to {street} instead?",
                   f"I moved! Please send order {order_id} to {street}."))
    ep.say(choose(rng, f"I can't change delivery addresses with the tools I have. I can check the status of {order_id} or refund it.",
                  "Changing the shipping address isn't something I can do here; I can only look up an order's status or request a refund."))
    if rng.random() < 0.5:
        return ep, True
    ep.user(choose(rng, "Then where is it right now?", "ok, what's its status?", "Alright, just tell me its status."))
    st = ep.one("order_status", {"order_id": order_id})
    ep.say(f"{order_id} is {st['status']} (placed {st['placed']}, total {money(st['total'], env.state['currency'])}).")
    return ep, not failed(st)


SCENARIOS = {"compare": compare, "unsupported": unsupported, "buy": buy, "refund": refund, "status_then_refund": status_then_refund}
