"""A pickle payload for the tests of the restricted unpickler: unpickling a :class:`Payload`
calls ``open(marker, 'w')`` -- a stand-in for any code a pickle can run -- so the marker file
exists afterwards exactly when the payload ran."""


class Payload:

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, 'w'))
