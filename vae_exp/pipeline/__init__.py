"""One path through a run: check a config, prepare its folder (claimed, locked, resumed) and
execute it; the config resolvers and the Hydra callbacks that connect the command to it."""
