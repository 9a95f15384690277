"""Project-level reconciliation: project identity across registries, conversion balances and
double registration, where serial numbers change on the way (issue 17).

* :mod:`.model`: holdings (what is read) and findings (what is found);
* :mod:`.crosswalk`: one project key for every registry's id of a project;
* :mod:`.balance`: the rules, pure functions over holdings;
* :mod:`.reader`: holdings from the index; :mod:`.store`: findings into it.
"""
