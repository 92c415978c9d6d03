#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* The compiler's idea of the target machine, fixed at build time. */
#if defined(__x86_64__)
#define MACHINE "x86_64"
#elif defined(__aarch64__)
#define MACHINE "aarch64"
#else
#define MACHINE "other"
#endif

static PyObject *machine(PyObject *self, PyObject *args) {
    return PyUnicode_FromString(MACHINE);
}

static PyMethodDef methods[] = {
    {"machine", machine, METH_NOARGS, "The machine this module was compiled for."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", NULL, -1, methods};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
