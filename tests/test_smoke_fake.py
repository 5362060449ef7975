def test_fake_engine_answers(fake_engine):
    a = fake_engine.ask("what is apheresis?")
    assert a.kind == "answer", a
